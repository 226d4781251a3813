"""The Textual face of secondme (``mem tui``): browse, search, edit and ask.

Textual is imported only by the modules below this package that build widgets, and only when
``mem tui`` runs, so ``mem --help`` stays fast.
"""
