"""The customers' 360° pages (CUS-02..CUS-11): the tabs of the contact and account detail
pages, their statistics, the records' history and attachments, import and export.

This package sits in the upper customers layer (beside `customers.views`): it reads tickets,
and changes data only through the services of customers and tickets."""
