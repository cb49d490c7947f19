"""Payment plans: an offer's plan policy and the schedule of an order paid in instalments.

Pure calculation, like ``core``: no Flask, no database and no clock of its own (the order
date and "today" are arguments), so the offer admin page, an order's schedule, the
customer's "My payments" and the scheduler all compute the same instalments from the
same policy. ``policy`` is the policy and its rules, ``stored`` its stored form, ``dates``
the calendar steps, ``schedule`` the instalments of an order, ``progress`` what payments
made of them, and ``preview`` the amounts the admin sees while typing.
"""
