"""Batch screening: records, the engines that run chunks, the shortlist workbook, the summary."""
