"""Notifications: events → e-mails through an outbox, subscriptions, Atom feeds (no Flask).

The API other packages use:

``outbox.enqueue(conn, recipient, template, context, key, *, locale="fr", subscription_id=None, due_at=None)``
    Queue one message **in the caller's transaction** (pass the connection of the change that
    causes it): a rollback queues nothing, a commit never loses it. ``key`` is the idempotency
    key (the same key twice queues one message). ``template`` names
    ``notifications/templates/<fr|en>/<template>.j2`` (blocks ``subject``, ``text``, ``html``);
    ``context`` is JSON; links are written ``url('/path')`` in templates. Give a
    ``subscription_id`` so the message's one-click unsubscribe link ends that subscription.
``outbox.enqueue_select(conn, select_sql, params)``
    The same for many recipients in one INSERT … SELECT.
``subscriptions.subscribe(conn, Selection(kind, value), email=… | user_id=…)``
    Double opt-in for addresses, confirmed at once for accounts.
``events.*``
    The portal's events (report created, status changed, resolution answered, compliance
    published, :func:`events.scan` for overdue reports and publication deadlines).
``sender.Sender(engine, SmtpTransport(SmtpSettings.from_url(url)), SenderSettings(...)).run_once()``
    Deliver what is due (``ova notify send``; ``--watch`` keeps a worker running).
"""
