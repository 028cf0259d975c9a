// i18n.js — Chinese / English labels for the video wall.
//
// `t(key, vars)` looks a label up in the current language ({name} placeholders are filled from
// `vars`); `applyI18n(root)` fills every element carrying `data-i18n` (text), `data-i18n-title`
// (tooltip) or `data-i18n-placeholder`. The language defaults to zh for navigator.language zh-*,
// en otherwise, and a choice made with `setLang` is remembered in localStorage. Listeners
// registered with `onLangChange` re-render dynamic text.

const STORAGE_KEY = "casewatch.lang";

const TABLE = {
  zh: {
    "app.title": "案管中心 · 视频墙",
    "login.title": "案管中心 · 登录",
    "login.name": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.wrong": "用户名或密码错误",
    "login.locked": "登录失败次数过多，请 {seconds} 秒后再试",
    "login.network": "无法连接服务器",
    "login.badToken": "大屏令牌无效或已撤销，请登录",
    "user.signOut": "退出",
    "lang.toggle": "EN",
    "nav.review": "录像审查",
    "lang.toggle.title": "Switch to English",
    "tree.title": "摄像机",
    "tree.filter": "搜索摄像机…",
    "tree.empty": "没有摄像机",
    "layout.title": "画面分割",
    "layout.grid": "{n} 画面",
    "layouts.title": "预案布局",
    "layouts.name": "布局名称",
    "layouts.save": "保存当前",
    "layouts.load": "加载",
    "layouts.delete": "删除",
    "layouts.none": "（无已保存布局）",
    "layouts.saved": "已保存布局 {name}",
    "layouts.deleted": "已删除布局 {name}",
    "tours.title": "轮巡",
    "tours.name": "轮巡名称",
    "tours.interval": "间隔（秒）",
    "tours.addCurrent": "添加当前画面为一步",
    "tours.addLayout": "添加布局为一步",
    "tours.save": "保存轮巡",
    "tours.start": "开始",
    "tours.stop": "停止",
    "tours.delete": "删除",
    "tours.none": "（无轮巡）",
    "tours.steps": "{n} 步 · 每 {s} 秒",
    "tours.running": "轮巡中：{name}",
    "tours.stepCameras": "{n} 路 ({grid})",
    "tours.stepLayout": "布局 {name}",
    "tours.needSteps": "请先添加步骤",
    "tours.saved": "已保存轮巡 {name}",
    "screens.title": "推送到大屏",
    "screens.push": "推送",
    "screens.none": "（无大屏）",
    "screens.connected": "在线",
    "screens.disconnected": "离线",
    "screens.pushed": "已推送到 {name}",
    "screens.refresh": "刷新",
    "alarms.title": "告警",
    "alarms.count.title": "未确认告警",
    "alarms.empty": "暂无告警",
    "alarms.ack": "确认",
    "alarms.acked": "已确认",
    "alarms.cleared": "已恢复",
    "alarms.active": "未恢复",
    "alarm.camera_offline": "摄像机离线",
    "alarm.recording_stopped": "录像中断",
    "alarm.session_overdue": "审讯超时",
    "state.connecting": "连接中",
    "state.live": "在线",
    "state.stalled": "卡顿",
    "state.offline": "离线",
    "state.backoff": "离线·重连",
    "state.stopped": "已停止",
    "state.disabled": "已停用",
    "state.unknown": "未知",
    "rec.on": "录像",
    "rec.off": "未录像",
    "session.badge": "审讯中 {case}",
    "tile.empty": "拖入或点击摄像机",
    "tile.connecting": "正在连接…",
    "tile.retry": "{s} 秒后重连",
    "tile.error": "错误：{msg}",
    "tile.offline": "摄像机离线 — 恢复后自动继续",
    "tile.unmute": "打开声音",
    "tile.mute": "关闭声音",
    "tile.close": "移除",
    "area.case_room": "案管室",
    "area.interrogation": "讯问室",
    "area.inquiry": "询问室",
    "area.waiting": "候问室",
    "area.property": "涉案财物室",
    "area.handling": "办案区",
    "area.corridor": "走廊",
    "area.other": "其他",
    "events.lost": "事件流中断，正在重连…",
    "kiosk.waiting": "大屏 {name}：等待推送",
  },
  en: {
    "app.title": "Case center · Video wall",
    "login.title": "Case center · Sign in",
    "login.name": "User name",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.wrong": "Wrong user name or password",
    "login.locked": "Too many failed sign-ins; try again in {seconds} s",
    "login.network": "Cannot reach the server",
    "login.badToken": "The wall screen token is not valid; sign in",
    "user.signOut": "Sign out",
    "lang.toggle": "中文",
    "nav.review": "Review",
    "lang.toggle.title": "切换到中文",
    "tree.title": "Cameras",
    "tree.filter": "Search cameras…",
    "tree.empty": "No cameras",
    "layout.title": "Grid",
    "layout.grid": "{n} tiles",
    "layouts.title": "Saved layouts",
    "layouts.name": "Layout name",
    "layouts.save": "Save current",
    "layouts.load": "Load",
    "layouts.delete": "Delete",
    "layouts.none": "(no saved layouts)",
    "layouts.saved": "Saved layout {name}",
    "layouts.deleted": "Deleted layout {name}",
    "tours.title": "Tours",
    "tours.name": "Tour name",
    "tours.interval": "Interval (s)",
    "tours.addCurrent": "Add current grid as a step",
    "tours.addLayout": "Add layout as a step",
    "tours.save": "Save tour",
    "tours.start": "Start",
    "tours.stop": "Stop",
    "tours.delete": "Delete",
    "tours.none": "(no tours)",
    "tours.steps": "{n} steps · every {s} s",
    "tours.running": "Tour: {name}",
    "tours.stepCameras": "{n} cameras ({grid})",
    "tours.stepLayout": "layout {name}",
    "tours.needSteps": "Add steps first",
    "tours.saved": "Saved tour {name}",
    "screens.title": "Push to screen",
    "screens.push": "Push",
    "screens.none": "(no screens)",
    "screens.connected": "online",
    "screens.disconnected": "offline",
    "screens.pushed": "Pushed to {name}",
    "screens.refresh": "Refresh",
    "alarms.title": "Alarms",
    "alarms.count.title": "Unacknowledged alarms",
    "alarms.empty": "No alarms",
    "alarms.ack": "Acknowledge",
    "alarms.acked": "Acknowledged",
    "alarms.cleared": "Cleared",
    "alarms.active": "Active",
    "alarm.camera_offline": "Camera offline",
    "alarm.recording_stopped": "Recording stopped",
    "alarm.session_overdue": "Session overdue",
    "state.connecting": "Connecting",
    "state.live": "Live",
    "state.stalled": "Stalled",
    "state.offline": "Offline",
    "state.backoff": "Offline · retrying",
    "state.stopped": "Stopped",
    "state.disabled": "Disabled",
    "state.unknown": "Unknown",
    "rec.on": "REC",
    "rec.off": "NOT REC",
    "session.badge": "Interrogation {case}",
    "tile.empty": "Drop or click a camera",
    "tile.connecting": "Connecting…",
    "tile.retry": "Retrying in {s} s",
    "tile.error": "Error: {msg}",
    "tile.offline": "Camera offline — resumes by itself",
    "tile.unmute": "Unmute",
    "tile.mute": "Mute",
    "tile.close": "Remove",
    "area.case_room": "Case room",
    "area.interrogation": "Interrogation",
    "area.inquiry": "Inquiry",
    "area.waiting": "Waiting room",
    "area.property": "Property room",
    "area.handling": "Handling area",
    "area.corridor": "Corridor",
    "area.other": "Other",
    "events.lost": "Event stream lost, reconnecting…",
    "kiosk.waiting": "Screen {name}: waiting for a push",
  },
};

const listeners = new Set();

function initialLang() {
  const params = new URLSearchParams(location.search);
  const forced = params.get("lang");
  if (forced && forced in TABLE) return forced;
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && saved in TABLE) return saved;
  } catch {
    // storage unavailable (private mode): fall through to the browser language
  }
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let current = initialLang();

export function getLang() {
  return current;
}

export function setLang(lang) {
  if (!(lang in TABLE) || lang === current) return;
  current = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered; still switched for this page
  }
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  applyI18n(document);
  for (const listener of listeners) listener(lang);
}

export function onLangChange(listener) {
  listeners.add(listener);
}

export function t(key, vars = {}) {
  const text = TABLE[current][key] ?? TABLE.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

export function applyI18n(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  document.title = t("app.title");
}

document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
