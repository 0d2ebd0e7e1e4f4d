"""CRM webhooks: outbox, payloads, endpoints, deliveries, dispatcher, inbound CRM events."""
