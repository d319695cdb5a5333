"""Issue #18: the purposes under which sign-up's age answer is recorded (12), and the essential-cookies purpose
describing all four cookies the portal sets, the confirmation-message one too (15)."""

from django.db import migrations

PURPOSES = [
    dict(code="age-confirmation", display_order=6, legal_basis="consent", data_categories=[], recipient_class="none",
         withdrawable=False,
         title_en="Confirmation of age at sign-up", title_zh_hans="注册时的年龄确认",
         description_en="Where the law of the country you live in sets an age below which a parent or guardian must "
                        "consent (14 in China, 16 in the EU unless a member state sets 13 to 15, 13 in the UK and the "
                        "US), your answer at sign-up that you have reached it.",
         description_zh_hans="如您居住国家的法律规定了须由父母或监护人同意的年龄（中国为 14 周岁，欧盟为 16 周岁，成员国"
                             "可规定为 13 至 15 周岁，英国和美国为 13 周岁），即您在注册时所作的已达到该年龄的答复。"),
    dict(code="guardian-consent", display_order=7, legal_basis="consent", data_categories=[], recipient_class="none",
         withdrawable=False,
         title_en="Consent of a parent or guardian", title_zh_hans="父母或监护人的同意",
         description_en="For a client younger than that age: the consent of the parent or guardian they named, given "
                        "on the link we sent to the guardian before the account was created. To withdraw it, ask us "
                        "to erase the account.",
         description_zh_hans="对于未达到该年龄的客户：其指定的父母或监护人通过我们在创建账户前发送给监护人的链接所给予的"
                             "同意。如需撤回，请要求我们删除该账户。"),
]
ESSENTIAL_COOKIES = dict(
    description_en="Four cookies keep you logged in, protect forms, remember your language and carry a confirmation "
                   "message to the next page. They are strictly necessary and set nothing else.",
    description_zh_hans="四个 Cookie 分别用于保持登录、保护表单、记住语言，以及把确认信息带到下一个页面。它们是严格必要"
                        "的，不做其他用途。",
)


def load(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    for fields in PURPOSES:
        fields = dict(fields)
        Purpose.objects.update_or_create(code=fields.pop("code"), defaults=fields)
    Purpose.objects.filter(code="essential-cookies").update(**ESSENTIAL_COOKIES)


class Migration(migrations.Migration):
    dependencies = [("consent", "0007_ledger_refuses_truncate")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
