"""Joins the hub to the api app: its channels' routes, the socket.io server, its senders,
and its start and stop."""

from __future__ import annotations

from fastapi import FastAPI

from api.hub import get_hub
from api.hub.channels import rest, socketio
from api.settings import get_settings


def install(app: FastAPI) -> None:
    """Serve `/webhooks/rest/webhook` and `/socket.io/`, and deliver socket.io replies."""
    redis_url = get_settings().redis_url
    if redis_url:
        socketio.share_rooms(redis_url)
    app.include_router(rest.router)
    app.mount("/socket.io", socketio.asgi_app())
    get_hub().register_sender(socketio.CHANNEL, socketio.SocketIOSender())
