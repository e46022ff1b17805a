"""Sources: adding them, and refreshing them (fetch or scan, parse, store).

``refresh`` owns the sequence for feeds (fetch -> parse in a worker process ->
store), ``folders`` for watched folders of newspaper issues (scan -> parse ->
store in resumable batches), ``adding`` turns what an operator typed into a
source row.
"""
