"""Results as people and machines read them: text, JSON and Markdown, shared by both front ends.

Pure: functions return strings or JSON-ready values; the front ends decide where they go.
"""
