"""The HTTP API: the app, authentication, problem details and the routers."""
