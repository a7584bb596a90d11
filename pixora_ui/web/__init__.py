"""Plain HTTP routes and middleware (FastAPI), registered by `register_web(app)`."""
