"""Messaging channels (Telegram, Zalo OA): inbound message -> ChatService -> per-channel formatter.

:func:`bot.channels.hub.build_channels` builds the configured ones from settings.
"""
