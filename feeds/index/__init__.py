"""Indexing: following the collection and keeping a current snapshot of it.

``files`` knows which file holds which article, ``compare`` finds the files that
changed, ``readers`` parses and tags them (in a process pool when there are
many), ``tagging`` loads the topics they are tagged with, ``state`` keeps the
last snapshot for a fast start, ``history`` dates changes, ``watch`` notices
them, ``requested`` shares the combinations readers asked for between workers, and
``live`` puts them together.
"""
