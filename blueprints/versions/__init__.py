"""Blueprint versions and the sandbox (BP issue 12, item 4): every save of a blueprint keeps a
snapshot with who and when (`models`, `services`), two versions compared in words (`diff`), and
a draft tried on an in-memory ticket without writing anything (`sandbox`)."""
