"""netspace package."""
