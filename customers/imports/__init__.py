"""Import of contacts and accounts from CSV files (CUS-01, issue 13 item 8): the job rows that
carry a confirmed import's state and progress (app label `customer_imports`), the parsing and
checking of a file, and the Celery task that writes a large one.

It sits in the upper customers layer (beside `customers.pages`): the pages call it, and it
writes customers' own records in bulk."""
