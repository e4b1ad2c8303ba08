"""The resource layer every engine uses: one table of files, a verified resumable download, a locked cache."""
