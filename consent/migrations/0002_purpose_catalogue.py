"""The purposes named by Fulfillmen's privacy policy, and the default rules per jurisdiction.

Opt-in (not granted until the client acts) where GDPR or PIPL asks for an affirmative act: EU/EEA, UK, China.
The policy's opt-out model elsewhere (e.g. California allows opting out of "sharing"). Both are data the
privacy officer can change in the admin.
"""

from django.db import migrations

PURPOSES = [
    dict(code="identification", display_order=10, legal_basis="contract", data_categories=["name", "email", "phone", "ip_address"],
         recipient_class="none", withdrawable=False,
         title_en="Identifying you", title_zh_hans="识别您的身份",
         description_en="We use your name, email, phone and IP address to know that you are you when you open an account and log in.",
         description_zh_hans="我们使用您的姓名、电子邮箱、电话和IP地址，在您开设账户和登录时确认您的身份。"),
    dict(code="order-fulfilment", display_order=20, legal_basis="contract", data_categories=["name", "phone", "shipping_address"],
         recipient_class="dropship-partners", transfer_outside_china=True, withdrawable=False,
         title_en="Fulfilling and shipping your orders", title_zh_hans="履行和配送您的订单",
         description_en="To store and ship your goods we give your name, phone number and shipping address to the drop-shipping partners and carriers that deliver them, including abroad.",
         description_zh_hans="为仓储和配送您的货物，我们会将您的姓名、电话和收货地址提供给负责配送的代发货合作伙伴和承运商，包括境外的合作方。"),
    dict(code="service-updates", display_order=30, legal_basis="contract", data_categories=["name", "email", "phone"],
         recipient_class="none", withdrawable=False,
         title_en="Keeping you updated about the warehouse system", title_zh_hans="向您通报仓储管理系统的更新",
         description_en="We tell you about changes to our warehouse management system and to this policy that affect your service.",
         description_zh_hans="我们会告知您仓储管理系统及本政策中影响您服务的变更。"),
    dict(code="customer-service", display_order=40, legal_basis="contract", data_categories=["name", "email", "phone"],
         recipient_class="none", withdrawable=False,
         title_en="Customer service", title_zh_hans="客户服务",
         description_en="We use your contact details to answer your questions and solve problems with your shipments.",
         description_zh_hans="我们使用您的联系方式回答您的问题并解决货运中的问题。"),
    dict(code="promotional-sharing", display_order=50, legal_basis="consent", data_categories=["ip_address", "email"],
         recipient_class="affiliates", transfer_outside_china=True, withdrawable=True, opted_out_by_gpc=True, is_marketing=True,
         title_en="Promotional sharing with affiliated companies", title_zh_hans="与关联公司共享以进行推广",
         description_en="We share your IP address and email address with a few affiliated companies so that they can send you promotional offers. You can stop this at any time.",
         description_zh_hans="我们会将您的IP地址和电子邮箱提供给少数关联公司，以便其向您发送推广优惠。您可以随时停止。"),
    dict(code="marketing-messages", display_order=60, legal_basis="consent", data_categories=["name", "email"],
         recipient_class="none", withdrawable=True, is_marketing=True,
         title_en="Promotional offers from Fulfillmen", title_zh_hans="来自Fulfillmen的推广优惠",
         description_en="We email you our own offers and news about our services. You can stop this at any time.",
         description_zh_hans="我们通过电子邮件向您发送我们自己的优惠和服务资讯。您可以随时停止。"),
    dict(code="business-transfer", display_order=70, legal_basis="legitimate-interest", data_categories=["name", "email", "phone", "shipping_address"],
         recipient_class="acquirer", withdrawable=False,
         title_en="Business transfer", title_zh_hans="业务转让",
         description_en="If Fulfillmen's business is sold or merged, your data passes to the acquirer, who must keep this policy's promises. We will tell you the acquirer's name and contact details.",
         description_zh_hans="如果Fulfillmen的业务被出售或合并，您的数据将转移给收购方，收购方须继续履行本政策的承诺。我们会告知您收购方的名称和联系方式。"),
    dict(code="terms-enforcement", display_order=80, legal_basis="legitimate-interest", data_categories=["name", "email", "phone", "ip_address", "shipping_address"],
         recipient_class="none", withdrawable=False,
         title_en="Protecting our shipping terms and preventing claims", title_zh_hans="维护运输条款并防范索赔",
         description_en="We may use your data to enforce our terms of shipment and to defend against potential or actual claims.",
         description_zh_hans="我们可能使用您的数据来执行运输条款，并应对潜在或实际的索赔。"),
    dict(code="legal-obligation", display_order=90, legal_basis="legal-obligation", data_categories=["name", "email", "phone", "ip_address", "shipping_address"],
         recipient_class="authorities", withdrawable=False,
         title_en="Legal obligations and lawful requests", title_zh_hans="法律义务与合法要求",
         description_en="We disclose data to law enforcement or government officials when the law, a court order or another legal process requires it. Each disclosure is recorded and shown to you unless the law forbids it for a time.",
         description_zh_hans="在法律、法院命令或其他法律程序要求时，我们会向执法或政府部门披露数据。每次披露都会被记录并向您展示，除非法律在一定期限内禁止。"),
    dict(code="essential-cookies", display_order=100, legal_basis="legitimate-interest", data_categories=["ip_address"],
         recipient_class="none", withdrawable=False,
         title_en="Essential cookies", title_zh_hans="必要的Cookie",
         description_en="A few cookies keep you logged in, remember your language and protect forms. They are strictly necessary and set nothing else.",
         description_zh_hans="少量Cookie用于保持登录、记住语言并保护表单。它们是严格必要的，不做其他用途。"),
]

RULES = [
    ("eea", False, "GDPR Art. 6(1)(a), 7: consent needs an affirmative act"),
    ("uk", False, "UK GDPR Art. 6(1)(a), 7: consent needs an affirmative act"),
    ("cn", False, "PIPL Art. 14, 23: informed, separate consent before sharing"),
    ("us-ca", True, "CCPA/CPRA: opt-out of sale and sharing (GPC honoured)"),
    ("other", True, "The policy's opt-out model"),
]


def load(apps, schema_editor):
    Purpose = apps.get_model("consent", "Purpose")
    Rule = apps.get_model("consent", "ConsentDefaultRule")
    for fields in PURPOSES:
        code = fields["code"]
        Purpose.objects.update_or_create(code=code, defaults={k: v for k, v in fields.items() if k != "code"})
    for jurisdiction, granted, note in RULES:
        Rule.objects.get_or_create(jurisdiction=jurisdiction, purpose=None, defaults={"granted_by_default": granted, "note": note})


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
