//! Test 4: an author that shows two histories is caught.
