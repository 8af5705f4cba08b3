"""Transactional outbox: events are written with the change that makes them true, then
published to Redis Streams after the commit. A relay republishes anything a crash left behind.
"""
