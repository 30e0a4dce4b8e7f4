import pytest

from suggestions.normalize import normalize_payee


@pytest.mark.parametrize(
    "raw, key",
    [
        ("AMZN Mktp US*2K4", "amazon marketplace"),
        ("AMZN MKTP US*RT7Y01", "amazon marketplace"),
        ("AMAZON.COM*AB12C", "amazon"),
        ("SQ *BLUE BOTTLE", "blue bottle"),
        ("SQ *BLUE BOTTLE 0412", "blue bottle"),
        ("UBER *TRIP HELP.UBER.COM", "uber trip"),
        ("UBER *TRIP 4XK2P HELP.UBER.COM", "uber trip"),
        ("UBER *EATS 9KD2LQ", "uber eats"),
        ("SHELL OIL 57442", "shell oil"),
        ("NETFLIX.COM", "netflix"),
        ("HULU.COM/BILL", "hulu"),
        ("https://www.netflix.com", "netflix"),
        ("TST* SWEETGREEN 0123", "sweetgreen"),
        ("TST*SWEETGREEN", "sweetgreen"),
        ("WHOLEFDS MKT #10234", "whole foods market"),
        ("WHOLEFDS MKT #10234 SAN FRANCISCO CA", "whole foods market san francisco"),
        ("Whole Foods Market", "whole foods market"),
        ("TRADER JOE'S #187", "trader joes"),
        ("MCDONALD'S F12345", "mcdonalds"),
        ("CVS/PHARMACY #12345", "cvs pharmacy"),
        ("WAL-MART #2280", "walmart"),
        ("PAYPAL *REDCROSS", "redcross"),
        ("DD *DOORDASH THAIBASIL", "doordash thaibasil"),
        ("POS PURCHASE 1234 TARGET 00012345", "target"),
        ("ACME CORP PAYROLL PPD ID:821050105", "acme payroll ppd"),  # trailing "id" reads as a state code
        ("  Blue   Bottle!!  ", "blue bottle"),
    ],
)
def test_examples(raw, key):
    assert normalize_payee(raw) == key


def test_variants_of_one_merchant_share_a_key():
    assert len({normalize_payee(n) for n in ["STARBUCKS STORE 06446", "STARBUCKS STORE 85868", "Starbucks Store #12"]}) == 1


def test_empty_and_numeric_only():
    assert normalize_payee("") == ""
    assert normalize_payee("   ") == ""
    assert normalize_payee("12345") == "12345"  # only numbers: kept rather than lost
    assert normalize_payee("#12345") == ""


def test_result_is_lowercase_without_punctuation():
    key = normalize_payee("H&M 1234 - Union Sq., S.F.")
    assert key == key.lower()
    assert all(c.isalnum() or c == " " for c in key)


@pytest.mark.parametrize(
    "raw, kept",
    [
        ("APPLE.COM/BILL 866-712-7753 CA : Mobile Purchase Sign Based 12/10 03:03p #7458", "apple"),
        ("BILL PAYMENT WWW.ATT.COM", "att"),
        ("M1 Long Island NY", "m1"),
        ("NYCTAXI5H11 LONG ISLAND NY", "nyctaxi"),
        ("3M COMPANY", "3m"),
        ("7-ELEVEN 2231", "7eleven"),
        ("premier inn44513065", "inn"),
        ("www.thekey.co.uk", "thekey"),
    ],
)
def test_digits_and_urls_that_name_the_merchant_survive(raw, kept):
    assert kept in normalize_payee(raw).split()


def test_codes_and_boilerplate_go():
    assert normalize_payee("facebk  z9uj3aep92") == normalize_payee("facebk qy3rccjar2") == "facebk"
    assert normalize_payee("UBER *TRIP 4XK2P HELP.UBER.COM") == "uber trip"
    assert "12p" not in normalize_payee("TARGET 00027599 12/09 12:12p #7458").split()


def test_unrelated_merchants_stay_apart():
    restaurant, taxi = normalize_payee("M1 Long Island NY"), normalize_payee("NYCTAXI5H11 LONG ISLAND NY")
    assert restaurant != taxi
    assert restaurant == "m1 long island" and taxi == "nyctaxi long island"
