"""Data in: labeled files read into a table (table.py) and their text/label columns found
(labeled.py), pre-training corpora (corpus.py), tokenization and the Chinese views
(tokenization.py), small synthetic corpora (toydata.py), the example data offered in the page
(examples.py). Nothing here imports torch at import time."""
