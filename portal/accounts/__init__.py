"""People, their logins and their roles in tenant spaces."""
