"""The Maildir mailbox between agents and the human: store, messages, watcher."""
