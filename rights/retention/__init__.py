"""Retention (GDPR Art. 5(1)(e); PIPL Art. 19, 47): how long each kind of data is kept, declared once as data
(`rules`), and the job that deletes or anonymises what has expired (`enforce`). The texts clients read in "Your
data" and the export come from the same rules, so the promise and the enforcement cannot drift.

Kept empty on purpose: `rules` is imported by the inventory and `rights.erasure` imports `periods`, so nothing here
may pull in either at package import.
"""
