"""Sessions. Pure: the lifecycle table (`lifecycle`), AXP events (`axp_events`) and what they
mean (`mapping`), the message-index hold (`ordering`), tokens (`tokens`, `identity`), the
record (`record`, `sends`). With I/O, one room per concern: client commands (`service`, which
dispatches to `login`, `axp_session`, `chat`, `messages`), delivery of sends (`outbox`), send
settlement (`settlement`), timers (`sweeper`), and the steps they share (`records`, `closing`,
`hold`, `timers`). Webhook intake lives in `webhooks/`."""
