"""What the disclosure workflow tells the apps above it, without knowing them (imports only go down).

`disclosure_scope_changed` is sent inside the transaction of every change that opens or closes a disclosure or
changes whom it concerns, with `disclosure` (locked, current) and `actor`. rights keeps each concerned client's
legal hold in step with it, in the same transaction, so a hold never lags the disclosure that causes it.
"""

from django.dispatch import Signal

disclosure_scope_changed = Signal()
