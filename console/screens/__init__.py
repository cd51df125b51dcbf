"""Console screens: every module here is imported by `console.init_app` and adds routes to the blueprint."""
