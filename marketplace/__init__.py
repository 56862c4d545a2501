"""Marketplace and partner directory (issue 6). Not an installed app yet."""
