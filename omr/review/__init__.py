"""`omr review`: the web screen where people decide what the machine could not.

- omr.review.app: the Flask app, `create_app(ReviewConfig)`: guard, headers, error pages
- omr.review.pages, omr.review.decide, omr.review.files: the routes (queue, sheet, results; decisions;
  images and fonts), sharing omr.review.context (config, cached reads, the request's store)
- omr.review.server: waitress (cheroot with TLS) serving it, `ReviewServer`; the command's loop and what it
  prints are omr.cli.review's `serve`
- omr.review.model: what awaits a person, from the store's reads and decisions
- omr.review.images: the annotated sheet, zooms and the original scan, from the file the store names
- omr.review.i18n: Vietnamese and English words, reason codes in plain words
- omr.review.security: loopback-only binding, access token, CSRF

Nothing is imported here, so `omr --help` does not load the web stack.
"""
