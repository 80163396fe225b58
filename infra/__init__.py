"""Deploy tooling: the resources the app needs besides its functions, and the Terraform package."""
