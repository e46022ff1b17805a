"""The summarize stage: segment once, rank sentences, pick keywords, index.

``rank`` is pure (sentences in, chosen sentences out, sumy's shape),
``keywords`` picks an article's keywords, ``stage`` runs both over stored
articles and writes the search index, ``jsonl`` is the command line's batch
interface.
"""
