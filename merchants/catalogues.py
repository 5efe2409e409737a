"""Curated lists the merchant application picks from: business categories (MCC) and banks."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MerchantCategory(models.TextChoices):
    """Common ISO 18245 merchant category codes, the ones Paydesk merchants actually use."""

    TRANSPORT = "4111", _("4111 · Local passenger transport")
    TAXI = "4121", _("4121 · Taxis and ride hailing")
    COURIER = "4215", _("4215 · Courier services")
    TRAVEL_AGENCY = "4722", _("4722 · Travel agencies and tour operators")
    TELECOM = "4814", _("4814 · Telecommunication services")
    UTILITIES = "4900", _("4900 · Utilities: electric, gas, water")
    COMPUTERS = "5045", _("5045 · Computers and peripheral equipment")
    MARKETPLACE = "5262", _("5262 · Online marketplaces")
    DEPARTMENT_STORE = "5311", _("5311 · Department stores")
    GENERAL_MERCHANDISE = "5399", _("5399 · General merchandise")
    GROCERY = "5411", _("5411 · Grocery stores and supermarkets")
    FOOD_STORE = "5499", _("5499 · Convenience and specialty food stores")
    FAMILY_CLOTHING = "5651", _("5651 · Clothing stores")
    ELECTRONICS = "5732", _("5732 · Electronics stores")
    SOFTWARE = "5734", _("5734 · Computer software stores")
    RESTAURANT = "5812", _("5812 · Restaurants")
    FAST_FOOD = "5814", _("5814 · Fast food and tea shops")
    DIGITAL_MEDIA = "5815", _("5815 · Digital goods: books, films, music")
    DIGITAL_GAMES = "5816", _("5816 · Digital goods: games")
    DIGITAL_APPS = "5817", _("5817 · Digital goods: applications")
    PHARMACY = "5912", _("5912 · Pharmacies")
    BOOKS = "5942", _("5942 · Book stores")
    TOYS = "5945", _("5945 · Toy and hobby shops")
    DIRECT_MARKETING = "5969", _("5969 · Direct marketing and subscriptions")
    COSMETICS = "5977", _("5977 · Cosmetics stores")
    PETS = "5995", _("5995 · Pet shops")
    SPECIALTY_RETAIL = "5999", _("5999 · Other specialty retail")
    HOTEL = "7011", _("7011 · Hotels and resorts")
    SOFTWARE_SERVICES = "7372", _("7372 · Software and IT services")
    BUSINESS_SERVICES = "7399", _("7399 · Business services")
    CINEMA = "7832", _("7832 · Cinemas")
    SPORTS_CLUB = "7997", _("7997 · Sports and recreation clubs")
    DOCTORS = "8011", _("8011 · Doctors and clinics")
    HOSPITAL = "8062", _("8062 · Hospitals")
    SCHOOL = "8299", _("8299 · Schools and training")
    CHARITY = "8398", _("8398 · Charities")
    PROFESSIONAL = "8999", _("8999 · Professional services")


class Bank(models.TextChoices):
    """Banks a settlement account can be held at (codes are the banks' common abbreviations)."""

    ICBC = "ICBC", _("Industrial and Commercial Bank of China")
    CCB = "CCB", _("China Construction Bank")
    ABC = "ABC", _("Agricultural Bank of China")
    BOC = "BOC", _("Bank of China")
    BOCOM = "BOCOM", _("Bank of Communications")
    PSBC = "PSBC", _("Postal Savings Bank of China")
    CMB = "CMB", _("China Merchants Bank")
    CITIC = "CITIC", _("China CITIC Bank")
    SPDB = "SPDB", _("Shanghai Pudong Development Bank")
    CIB = "CIB", _("Industrial Bank")
    CMBC = "CMBC", _("China Minsheng Bank")
    CEB = "CEB", _("China Everbright Bank")
    HXB = "HXB", _("Hua Xia Bank")
    PAB = "PAB", _("Ping An Bank")
    CGB = "CGB", _("China Guangfa Bank")
    BOB = "BOB", _("Bank of Beijing")
    BOS = "BOS", _("Bank of Shanghai")
