"""Who a requester can complain to when an appeal upholds a refusal, per jurisdiction (VCDPA §59.1-577(C): "a method
through which the consumer may contact the Attorney General to submit a complaint"; CPA 6-1-1306(3)(e); GDPR
Art. 77; PIPL Art. 65). Data kept beside the deadline rules; translated like every text a requester reads."""

from django.utils.translation import gettext_lazy as _

from accounts.jurisdictions import Jurisdiction

AUTHORITIES = {
    Jurisdiction.EEA: _("The data-protection supervisory authority of the EU or EEA country where you live or work, "
                        "or where the problem happened (their list: https://www.edpb.europa.eu/about-edpb/about-edpb/"
                        "members_en). You can also go to court."),
    Jurisdiction.UK: _("The Information Commissioner's Office (ICO): https://ico.org.uk/make-a-complaint/ . You can "
                       "also go to court."),
    Jurisdiction.CN: _("The departments that protect personal information (PIPL Art. 65), such as the Cyberspace "
                       "Administration of China's reporting centre: https://www.12377.cn , telephone 12377. You can "
                       "also go to a people's court (PIPL Art. 50)."),
    Jurisdiction.US_CA: _("The California Privacy Protection Agency (https://cppa.ca.gov) or the California Attorney "
                          "General (https://oag.ca.gov/privacy)."),
    Jurisdiction.OTHER: _("The privacy regulator where you live. In the United States: your state's Attorney General, "
                          "for example in Virginia https://www.oag.state.va.us and in Colorado https://coag.gov ."),
}


def complaint_authority(jurisdiction: str) -> str:
    return str(AUTHORITIES.get(jurisdiction) or AUTHORITIES[Jurisdiction.OTHER])
