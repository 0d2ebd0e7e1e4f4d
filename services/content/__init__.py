"""Content: articles and their publishing rules, the compliance policy and disclaimers, the
content files and their import, rendering, media, search, translations, taxonomy, previews and
the change feed. Next: the editorial workflow and its approvals."""
