"""The answer: its columns, models, records and bytes."""
