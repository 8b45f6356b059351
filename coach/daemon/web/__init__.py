"""The page on the lifter's phone (config `web: {listen: HOST:PORT}`): server.py serves it and
posts the daemon's typed requests, auth.py guards it, api.py reads the library and history;
static/ is the page itself (plain HTML, CSS and JS: no build step, nothing from a CDN)."""
