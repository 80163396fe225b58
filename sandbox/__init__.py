"""Local tooling: runs the real Chalice handlers against an embedded AWS (moto). Never deployed."""
