"""Settings of ``ember.compile`` (``torch._dynamo.config``'s names)."""

cache_size_limit = 8  # compiled graphs per compiled module or function; then calls that fit none run eagerly
