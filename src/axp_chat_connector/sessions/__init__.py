"""Sessions: the pure lifecycle table (`lifecycle`), AXP event mapping (`mapping`), the
message-index hold (`ordering`), session tokens (`tokens`) and verified-mode id tokens
(`identity`); the service that drives them with I/O lives beside them."""
