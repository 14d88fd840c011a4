"""Messenger, Instagram, WhatsApp Cloud API and Telegram Bot API: webhooks that verify the
platform before anything is stored and hand customers' messages to the hub, and senders that
deliver the hub's replies through each platform's send API within its limits."""
