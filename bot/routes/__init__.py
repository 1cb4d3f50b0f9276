"""HTTP route groups; :func:`bot.api.create_app` mounts them."""
