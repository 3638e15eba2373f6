"""Notes and files on a contact or an account (CUS-11): the lower customers layer (it imports
tenancy and the customer records only); the tab that shows them is customers.pages."""
