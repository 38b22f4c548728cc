"""Batch screening: records, the engines that run chunks, the shortlist workbook, the summary."""

# Rows of a big list screened at a time (here, where `assess screen --help` reads it without
# loading pandas): a 16,000-row chunk's scoring takes a worker about 0.12 GiB above its start
# (25,000 rows: 0.21), so a 1,000,000-row list on two processes stays under 2 GiB in all, for
# some 5 % more time (bench/README.md, "Chunk size").
ROWS_PER_CHUNK = 16_000
