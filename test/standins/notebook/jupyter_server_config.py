# Jupyter Server defaults of the notebook stand-in images (the same two docker-stacks sets).
c = get_config()  # noqa: F821
# listen on all interfaces (IPv4 and IPv6), never open a browser
c.ServerApp.ip = ""
c.ServerApp.open_browser = False
