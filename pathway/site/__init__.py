"""Site-wide pages: home, language choice, health check, robots.txt."""
