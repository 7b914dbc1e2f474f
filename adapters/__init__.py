"""Platform adapters: each turns one platform's events into Concord's neutral events
and Concord's neutral actions into that platform's calls, and nothing more."""
