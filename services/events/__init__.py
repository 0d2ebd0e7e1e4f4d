"""Events: the transactional outbox. An event row, and one delivery row per subscribed endpoint,
are written in the transaction of the change that causes it; a commit that wrote deliveries
wakes the dispatchers. It knows no domain: content and leads build their own event data
(`services.content.events`, `services.leads.events`) and webhooks deliver what it holds."""
