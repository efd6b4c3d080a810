"""The capped page the long lists use: next page from one extra row, total counted up to a cap."""
from carecycle.pagination import CappedPage


def test_one_row_more_than_the_page_means_there_is_a_next_page():
    page = CappedPage.from_rows(range(11), 2, 10)
    assert page.items == list(range(10)) and page.has_next and page.next_num == 3
    assert page.has_prev and page.prev_num == 1 and page.pages is None and page.total is None
    last = CappedPage.from_rows(range(4), 1, 10)
    assert not last.has_next and last.next_num is None and not last.has_prev and last.prev_num is None


def test_a_total_at_the_cap_is_shown_as_capped_and_the_page_count_is_unknown():
    exact = CappedPage.from_rows(range(11), 1, 10, total=23, cap=1000)
    assert (exact.total, exact.total_capped, exact.pages) == (23, False, 3)
    capped = CappedPage.from_rows(range(11), 1, 10, total=1000, cap=1000)
    assert (capped.total, capped.total_capped, capped.pages) == (1000, True, None)
    empty = CappedPage.from_rows([], 1, 10, total=0, cap=1000)
    assert (empty.items, empty.pages, empty.has_next) == ([], 1, False)


def test_a_page_number_too_large_for_the_database_shows_an_empty_page_not_an_error():
    from carecycle.urls import PAGE_MAX, page_number
    assert page_number("1" + "0" * 24) == PAGE_MAX
    assert page_number("-3") == 1 and page_number("x") == 1 and page_number(None) == 1 and page_number("7") == 7
