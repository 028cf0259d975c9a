// dom.js — the review page's small DOM helpers: build an element, show a toast.

/** `el("li", {class, text, onclick, data-x}, ...children)`: falsy attributes are left out. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A message in the corner for a few seconds (longer for errors). */
export function toast(message, kind = "info") {
  const item = el("div", { class: `toast ${kind}`, text: message });
  document.getElementById("toasts").append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}
