"""The composition root: the FastAPI app, its routers, and the command line."""
