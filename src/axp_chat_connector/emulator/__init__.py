"""The AXP emulator: Avaya's auth, Custom Chat and Notification APIs, webhook delivery, agents."""
